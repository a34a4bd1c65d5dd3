"""The web console at ``/``: servers and nodes with their state, each
resource's tasks as a timeline that updates live, what is running now, and
failed tasks one click away.

Why server-rendered HTML plus one small script (static/console.js) and no
JavaScript framework: the pages are lists and timelines the API already has
the data for, so rendering them in Python reuses the task view and the
policy checks as they are, there is nothing to build at package time and
nothing but this package to serve at run time, and the page works (without
live updates) even with scripts off. The script only listens to the task
event stream and swaps in the fragment the server renders for a changed
task, so there is one renderer, not two.

Identity is the API's: the same context middleware (noauth2 headers or
defaults in the all-in-one) and the same visibility rules.
"""
