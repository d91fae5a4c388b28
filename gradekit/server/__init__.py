"""The course server (`grade serve`): students upload notebooks and get the public checks' feedback from a machine
the course runs, so the answer key (reference/, the hidden graders) never leaves it.

One job per module: `course` (course.toml and roster.csv), `store` (the database: people, sign-in tokens, jobs),
`jobs` (the queue's runner on the engine's warm workers), `uploads` (what is accepted before it is stored),
`security` (tokens, CSRF, sign-in rate limits), `app` (the Starlette routes and pages), `demo` (a throwaway course).
"""
