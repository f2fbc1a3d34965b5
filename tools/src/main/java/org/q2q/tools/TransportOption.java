package org.q2q.tools;

import org.q2q.client.Transport;

/** {@code --transport}: the library's {@link Transport}, spelled for the command line. */
enum TransportOption {
  auto(Transport.AUTO), direct(Transport.DIRECT), ptcp(Transport.PTCP), relay(Transport.RELAY);

  /** The option's help text, one for every command that connects. */
  static final String HELP = "auto (default): direct TCP (either way), then PTCP over UDP through NATs (hole punching), "
      + "then the presence server's relay; direct: TCP or PTCP, never the relay; ptcp: only PTCP; relay: always "
      + "through the presence server. Every path is end-to-end encrypted.";

  final Transport value;

  TransportOption(Transport value) {
    this.value = value;
  }
}
