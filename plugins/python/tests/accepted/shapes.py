from abc import ABC, abstractmethod
from dataclasses import dataclass, field
import math


class Shape(ABC):
    @abstractmethod
    def area(self) -> float: ...

    def __lt__(self, other: "Shape") -> bool:
        return self.area() < other.area()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(area={self.area():.2f})"


@dataclass
class Circle(Shape):
    radius: float

    def area(self) -> float:
        return math.pi * self.radius ** 2


@dataclass
class Rect(Shape):
    w: float
    h: float
    tags: list = field(default_factory=list)

    @property
    def square(self) -> bool:
        return self.w == self.h

    def area(self) -> float:
        return self.w * self.h


class Square(Rect):
    def __init__(self, side: float):
        super().__init__(side, side, ["square"])


shapes = sorted([Circle(1), Rect(2, 3), Square(1.5)])
print(shapes)
print([s.square for s in shapes if isinstance(s, Rect)])
print(Square(2) == Rect(2, 2, ["square"]), Square.__name__, Square.__doc__)
