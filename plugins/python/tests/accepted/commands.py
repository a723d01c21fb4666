# A tiny calculator with a match statement; the words "eval", "exec" and
# "import os" only appear in strings and comments here.
def run(command: str) -> str:
    match command.split():
        case ["add", a, b]:
            return str(int(a) + int(b))
        case ["mul", *rest] if rest:
            total = 1
            for r in rest:
                total *= int(r)
            return str(total)
        case ["eval", *_]:
            return "eval is not supported, try 'add 1 2'"
        case ["say", {"import os": _}]:
            return "unreachable"
        case [("quit" | "exit")]:
            return "bye"
        case _:
            return f"unknown command: {command!r}"


eval_score = 3
exec_time_ms = 12.5
compile_flags = ["-O2"]
for line in ["add 2 3", "mul 2 3 4", "eval 1+1", "exec import os", "quit"]:
    print(line, "=>", run(line))
print("eval_score", eval_score, "exec_time_ms", exec_time_ms, compile_flags)
