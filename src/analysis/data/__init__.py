"""What exists: the curated published figures (sources) and the cohort engine on activity logs (cohorts)."""
