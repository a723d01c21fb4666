import asyncio
import time


async def worker(name: str, delay: float, results: list) -> int:
    await asyncio.sleep(delay)
    results.append(name)
    return len(name)


async def main() -> None:
    results: list[str] = []
    started = time.perf_counter()
    sizes = await asyncio.gather(
        worker("slow", 0.03, results),
        worker("fast", 0.01, results),
        worker("medium", 0.02, results),
    )
    elapsed = time.perf_counter() - started
    print(results, sizes, elapsed < 1.0)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(3):
        queue.put_nowait(i * i)
    while not queue.empty():
        print("got", await queue.get())


asyncio.run(main())
