"""Written answers: math read from LaTeX and checked for equivalence with sympy, true/false keys, complexity
classes, and free text routed to a TA.

The host only finds answer cells and extracts their text (`answers`). Reading LaTeX and comparing
expressions (`latex`, `compare`) runs in a separate process with a time limit per answer (`client`,
`server`): student text goes to sympy's LaTeX parser behind our own normalisation, never to `sympify`,
`parse_expr` or `eval`.
"""
