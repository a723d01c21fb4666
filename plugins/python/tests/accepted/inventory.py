from enum import Enum
from typing import Optional


class Kind(Enum):
    TOOL = "tool"
    FOOD = "food"


class OutOfStock(Exception):
    def __init__(self, item: str):
        super().__init__(f"{item} is out of stock")
        self.item = item


class Inventory:
    def __init__(self):
        self._items: dict[str, tuple[Kind, int]] = {}

    def __enter__(self):
        print("open inventory")
        return self

    def __exit__(self, exc_type, exc, tb):
        print("close inventory", "after error" if exc else "cleanly")
        return isinstance(exc, OutOfStock)

    def __len__(self):
        return sum(n for _, n in self._items.values())

    def add(self, name: str, kind: Kind, count: int = 1) -> None:
        old = self._items.get(name, (kind, 0))[1]
        self._items[name] = (kind, old + count)

    def take(self, name: str) -> Optional[Kind]:
        kind, count = self._items.get(name, (None, 0))
        if count == 0:
            raise OutOfStock(name)
        self._items[name] = (kind, count - 1)
        return kind


with Inventory() as inv:
    inv.add("hammer", Kind.TOOL)
    inv.add("apple", Kind.FOOD, 3)
    print(len(inv), inv.take("apple"), inv.take("hammer").value)
    try:
        inv.take("hammer")
    except OutOfStock as e:
        print("error:", e, e.item)
    finally:
        print("left:", len(inv))
    inv.take("saw")
print("done")
