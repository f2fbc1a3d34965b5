package org.q2q.server.internal.fleet;

import java.security.SecureRandom;
import java.util.Base64;
import org.q2q.proto.HostPort;

/**
 * One node of a domain as the directory knows it: its id (random per run, the prefix of the
 * listener ids it issues), and where its gRPC port and relay socket listen.
 */
public record Node(String id, String host, int grpcPort, int relayPort) {
  /** Random bits of a node id: a restarted node is a new node. */
  private static final int ID_BYTES = 6;
  /** Ends a node id inside a listener id. */
  public static final char TICKET_SEPARATOR = '.';

  /** A fresh node id: 8 base64url characters. */
  public static String newId() {
    byte[] b = new byte[ID_BYTES];
    new SecureRandom().nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }

  /** The node id a listener id names, or "" if it names none. */
  public static String ofTicket(String listenerId) {
    int dot = listenerId.indexOf(TICKET_SEPARATOR);
    return dot == 8 ? listenerId.substring(0, dot) : "";
  }

  /** Its gRPC endpoint. */
  public HostPort grpc() {
    return HostPort.newBuilder().setHost(host).setPort(grpcPort).build();
  }

  @Override
  public String toString() {
    return "node " + id + " (" + (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + grpcPort + ")";
  }
}
