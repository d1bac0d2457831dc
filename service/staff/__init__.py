"""Staff users: who may log in to the staff pages, with which role; login, logout, lockout;
the admin's user page; the demo's logins."""
