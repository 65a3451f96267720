"""Fetching public records on a schedule: USAspending's bulk download API, the
subscriptions that run it through the task queue, and the calendar tasks that
follow contracts' own dates."""
