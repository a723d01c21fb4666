# Reads a name and greets it: the shape of most beginner programs.
name = input("What is your name? ")
times = int(input("How many times? "))
for i in range(times):
    print(f"{i + 1}: Hello, {name.strip().title()}!")
