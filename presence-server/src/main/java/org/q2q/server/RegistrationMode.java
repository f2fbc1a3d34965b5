package org.q2q.server;

/** Who may create accounts on a presence server. */
public enum RegistrationMode {
  /** The first Sign for an unused address creates its account with the password given. */
  OPEN,
  /** Only the administrator creates accounts ({@code q2q server adduser}); Sign needs an existing one. */
  CLOSED
}
