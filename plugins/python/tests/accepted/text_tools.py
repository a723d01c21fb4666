import re
import string
from textwrap import dedent

text = dedent(
    """\
    Call eval() never; exec is evil. Email: ada@example.com, bob@example.org.
    Phone 555-1234 and 555-9876.
    """
)
emails = re.findall(r"[\w.]+@[\w.]+\.\w+", text)
phones = re.sub(r"(\d{3})-(\d{4})", r"(\1) \2", text)
print(emails)
print(phones.splitlines()[1])
letters = sum(ch in string.ascii_letters for ch in text)
print("letters:", letters, "words:", len(text.split()))


class Parser:
    """Has its own methods called eval and compile: attribute calls are fine."""

    def compile(self, pattern):
        return re.compile(pattern)

    def eval(self, expr):
        a, op, b = expr.split()
        return {"+": int(a) + int(b), "*": int(a) * int(b)}[op]


p = Parser()
print(p.eval("6 * 7"), bool(p.compile(r"\d+").match("42")))
print("{:>8}|{:<8}|{:^8}".format("right", "left", "mid"))
