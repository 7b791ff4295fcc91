"""The filter cases shared by test_filters.py and record_aws_filters.py: keys relative to the prefix, and
filter lists in the order given on the command line."""

KEYS = (
    "a.txt",
    "a.log",
    "b?.txt",
    "readme",
    "logs/x.log",
    "logs/deep/y.txt",
    "Logs/z.log",
    "data/2024/a.csv",
    "data/2025/b.csv",
    "data/old/c.csv",
    "x[1].txt",
    "with space.txt",
)

CASES = {
    "no filters": [],
    "exclude *.log": [("exclude", "*.log")],
    "exclude all, include *.txt": [("exclude", "*"), ("include", "*.txt")],
    "include *.txt, exclude all (last wins)": [("include", "*.txt"), ("exclude", "*")],
    "exclude a prefix": [("exclude", "logs/*")],
    "exclude a prefix, include a deeper one": [("exclude", "logs/*"), ("include", "logs/deep/*")],
    "? matches one character": [("exclude", "data/202?/*")],
    "a set": [("exclude", "*"), ("include", "data/[0-9]*")],
    "a negated set": [("exclude", "[!a-l]*")],
    "* crosses /": [("exclude", "*x.log")],
    "case-sensitive": [("exclude", "logs*")],
    "literal key": [("exclude", "readme")],
    "space in pattern": [("exclude", "with space.txt")],
    "include alone changes nothing": [("include", "*.csv")],
}
