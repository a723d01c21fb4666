def describe(point):
    match point:
        case (0, 0):
            return "origin"
        case (x, 0):
            return f"x={x}"
        case {"kind": kind, **rest}:
            return f"kind={kind} {len(rest)}"
        case _:
            return "other"
print("py310", describe((0, 0)), describe((3, 0)), describe({"kind": "k", "a": 1}))
