"""What we invent, all labelled SIMULATED: the user panel (users, panel) and the merchants (merchants)."""
