"""The course autograder: nbgrader glue, 0–4 scoring, reports and the hidden checks."""
