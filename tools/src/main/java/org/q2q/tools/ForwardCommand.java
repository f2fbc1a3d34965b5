package org.q2q.tools;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.q2q.certstore.Address;
import org.q2q.certstore.ClientHome;
import org.q2q.certstore.Identity;
import org.q2q.certstore.ServiceAddress;
import org.q2q.client.Q2qClient;
import org.q2q.client.forward.Forwarder;
import org.q2q.client.forward.HostPort;
import org.q2q.client.forward.ReverseForwarder;
import org.q2q.tools.ExitCodes.CommandFailedException;
import org.q2q.tools.ExitCodes.UsageException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code q2q forward [BIND_HOST:]PORT ADDRESS/SERVICE} (like ssh -L) and {@code q2q forward --remote
 * [BIND_HOST:]PORT ADDRESS HOST:PORT} (like ssh -R, through a 'q2q gateway').
 */
@Command(
    name = "forward",
    mixinStandardHelpOptions = true,
    description = {
      "Forward a local port to ADDRESS/SERVICE (like ssh -L), or with --remote a gateway's port here (ssh -R).",
      "",
      "Listen on local port PORT (127.0.0.1 unless BIND_HOST is given) and carry each "
          + "connection to the service ADDRESS/SERVICE offered with 'q2q expose', end-to-end "
          + "encrypted, like ssh -L. All connections share one peer session; if the peer cannot be "
          + "reached a connection is closed with the reason on stderr and the forwarder keeps "
          + "listening. With --remote, the reverse (like ssh -R): ask the 'q2q gateway' at ADDRESS to "
          + "listen on PORT there and carry each connection back to HOST:PORT here; exits non-zero if "
          + "the gateway refuses at start, and reopens the port (with backoff) if the tunnel is lost "
          + "later. Prints 'ready: ...' once listening, then whether the peer session could be opened "
          + "ahead of the first connection, then a line per connection. Runs until interrupted."
    },
    footer = {"", "Examples:", "  q2q forward 9000 bob@example.com/web",
      "  q2q forward --remote 20001 gw@example.com 127.0.0.1:3000"})
final class ForwardCommand implements Callable<Integer> {
  /** How the data may travel. */

  /** First and longest wait before reopening a lost reverse tunnel. */
  private static final long REOPEN_INITIAL_MILLIS = 1000;
  private static final long REOPEN_MAX_MILLIS = 30_000;

  @Spec private CommandSpec spec;
  @Mixin private VerboseMixin verbose;
  @Mixin private IdentityOption identity;
  @Mixin private ServerOption server;

  @Option(names = "--remote", description = "Open PORT on the gateway ADDRESS and carry its connections to HOST:PORT here.")
  boolean remote;

  @Option(names = "--transport", paramLabel = "auto|direct|ptcp|relay", defaultValue = "auto",
      description = TransportOption.HELP)
  TransportOption transport;

  @Option(names = "--max-connections", paramLabel = "N", defaultValue = "1024",
      description = "Most connections carried at once; more wait to be accepted (default ${DEFAULT-VALUE}).")
  int maxConnections;

  @Parameters(index = "0", paramLabel = "[BIND_HOST:]PORT",
      description = "Where to listen: here (default host 127.0.0.1), or with --remote on the gateway.")
  String listen;

  @Parameters(index = "1", paramLabel = "TARGET",
      description = "ADDRESS/SERVICE to reach (e.g. bob@example.com/web); with --remote, the gateway's ADDRESS.")
  String target;

  @Parameters(index = "2", arity = "0..1", paramLabel = "HOST:PORT",
      description = "With --remote: where the gateway's connections go here (e.g. 127.0.0.1:3000).")
  String back;

  @Override
  public Integer call() throws Exception {
    CliEnvironment env = Main.of(spec).environment();
    if (maxConnections < 1) {
      throw new UsageException("--max-connections must be at least 1");
    }
    if (remote != (back != null)) {
      throw new UsageException(remote
          ? "--remote needs [BIND_HOST:]PORT ADDRESS HOST:PORT, e.g. --remote 20001 gw@example.com 127.0.0.1:3000"
          : "expected [BIND_HOST:]PORT ADDRESS/SERVICE, e.g. 9000 bob@example.com/web (or --remote for the reverse)");
    }
    ClientHome home = env.home();
    Identity id = identity.resolve(home);
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    return remote ? reverse(env, home, id, out, err) : local(env, home, id, out, err);
  }

  private int local(CliEnvironment env, ClientHome home, Identity id, PrintWriter out, PrintWriter err)
      throws Exception {
    HostPort bind;
    ServiceAddress to;
    try {
      bind = HostPort.parseBind(listen, "127.0.0.1");
      to = ServiceAddress.parse(target);
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
    try (Q2qClient client = TunnelClients.build(env, home, id, server, err, transport.value)) {
      Thread hook = TunnelClients.closeOnExit(client);
      try (Forwarder f = Forwarder.open(client, bind, to, maxConnections, new TunnelPrinter(out, err))) {
        TunnelPrinter.print(out, "ready: forwarding " + new HostPort(bind.host(), f.localAddress().getPort())
            + " to " + to + " as " + id.address());
        ServiceAddress target = to;
        f.prepare().whenComplete((route, e) -> {
          if (e == null) {
            TunnelPrinter.print(out, "session to " + target.address() + " open via " + route);
          } else {
            TunnelPrinter.print(err, "q2q: " + target.address() + " cannot be reached now ("
                + CliErrors.message(e) + "); each connection tries again");
          }
        });
        new CompletableFuture<Void>().get(); // until interrupted
        return ExitCodes.OK;
      } catch (java.io.IOException e) {
        throw new CommandFailedException(ExitCodes.FAILURE, e.getMessage());
      } finally {
        TunnelClients.removeHook(hook);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return ExitCodes.OK;
    }
  }

  private int reverse(CliEnvironment env, ClientHome home, Identity id, PrintWriter out, PrintWriter err)
      throws Exception {
    HostPort remoteBind;
    Address gateway;
    HostPort here;
    try {
      remoteBind = HostPort.parseBind(listen, "*");
      gateway = Address.parse(target);
      here = HostPort.parse(back);
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
    }
    if (gateway.isDomain()) {
      throw new UsageException("'" + gateway + "' is a domain; name the gateway's address, e.g. gw@" + gateway);
    }
    if (remoteBind.port() == 0) {
      throw new UsageException("name the port to open on the gateway (1..65535)");
    }
    String host = remoteBind.host().equals("*") ? "" : remoteBind.host();
    TunnelPrinter printer = new TunnelPrinter(out, err);
    try (Q2qClient client = TunnelClients.build(env, home, id, server, err, transport.value)) {
      Thread hook = TunnelClients.closeOnExit(client);
      try {
        ReverseForwarder r;
        try {
          r = ReverseForwarder.open(client, gateway, host, remoteBind.port(), here, maxConnections, printer).get();
        } catch (ExecutionException e) {
          throw e.getCause() instanceof Exception x ? x : e; // a refusal or no gateway: say why and exit
        }
        TunnelPrinter.print(out, "ready: " + gateway + " listens on " + r.bound() + "; its connections come to "
            + here);
        // Once it worked, a lost tunnel is reopened (like autossh), with backoff.
        long backoffMillis = REOPEN_INITIAL_MILLIS;
        for (; ; ) {
          String why = r.closed().get();
          r.close();
          TunnelPrinter.print(err, "q2q: the tunnel ended (" + why + "); reopening it...");
          for (; ; ) {
            Thread.sleep(backoffMillis);
            backoffMillis = Math.min(backoffMillis * 2, REOPEN_MAX_MILLIS);
            try {
              r = ReverseForwarder.open(client, gateway, host, remoteBind.port(), here, maxConnections, printer)
                  .get();
              break;
            } catch (ExecutionException e) {
              TunnelPrinter.print(err, "q2q: reopening failed: " + CliErrors.message(e.getCause()) + "; retrying in "
                  + backoffMillis / 1000.0 + " s");
            }
          }
          backoffMillis = REOPEN_INITIAL_MILLIS;
          TunnelPrinter.print(out, "reopened: " + gateway + " listens on " + r.bound());
        }
      } finally {
        TunnelClients.removeHook(hook);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return ExitCodes.OK;
    }
  }
}
