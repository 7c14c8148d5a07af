"""Jobs: create, start, stop and remove them (services), read them (selectors), run them on a node
(runner, through the Tasks API: tasks), and their pages (forms, views)."""
