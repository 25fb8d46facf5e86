"""The patient's side, one blueprint per area: "patient" (views.py: the invite landing, Today,
the Timeline, /api/plan), "access" (open_views.py: /open and the access code), "checkins"
(checkin_views.py) and "push" (push_views.py: reminders). Pages render through pages.py."""
