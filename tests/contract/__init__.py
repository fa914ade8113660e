"""The engine contract suite (issue 10, part 2): every mechanism alone, on every engine."""
