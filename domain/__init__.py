"""leadflow's pure core: models, rules, scoring, state machines and the one decision function.

Imports neither temporalio nor anything that does I/O; time always comes in as an argument.
"""
