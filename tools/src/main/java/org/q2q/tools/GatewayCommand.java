package org.q2q.tools;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import org.q2q.certstore.ClientHome;
import org.q2q.certstore.Identity;
import org.q2q.client.Q2qClient;
import org.q2q.client.forward.AllowList;
import org.q2q.client.forward.Gateway;
import org.q2q.client.forward.PortRange;
import org.q2q.tools.ExitCodes.CommandFailedException;
import org.q2q.tools.ExitCodes.UsageException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code q2q gateway}: let allowed addresses open ports here (the far end of 'q2q forward --remote'). */
@Command(
    name = "gateway",
    mixinStandardHelpOptions = true,
    description = {
      "Let allowed addresses open ports here for 'q2q forward --remote' (like ssh -R).",
      "",
      "Let allowed addresses open TCP ports on this machine with 'q2q forward --remote PORT "
          + "ADDRESS HOST:PORT' (like ssh -R or a self-hosted ngrok); each connection to such a port "
          + "is carried back, end-to-end encrypted, to the address that opened it. Ports outside "
          + "--ports and addresses not allowed are refused with a message the caller sees; a port "
          + "closes when the caller goes away. Prints 'ready: ...' once the presence server has "
          + "confirmed the registration, then a line per port and per connection. Runs until "
          + "interrupted."
    },
    footer = {"", "Example: q2q gateway --ports 20000-20100 --allow @example.com"})
final class GatewayCommand implements Callable<Integer> {

  @Spec private CommandSpec spec;
  @Mixin private VerboseMixin verbose;
  @Mixin private IdentityOption identity;
  @Mixin private ServerOption server;

  @Option(names = "--allow", paramLabel = "ADDRESS|@DOMAIN",
      description = "Who may open ports (repeatable): an address or a whole domain. Default: your own domain.")
  List<String> allow = new ArrayList<>();

  @Option(names = "--ports", paramLabel = "RANGE", defaultValue = "1024-65535",
      description = "The ports callers may open, FIRST-LAST or N-N (default ${DEFAULT-VALUE}).")
  String ports;

  @Option(names = "--bind", paramLabel = "HOST", defaultValue = "0.0.0.0",
      description = "Where ports are opened when the caller names no host (default ${DEFAULT-VALUE}, all interfaces).")
  String bind;

  @Option(names = "--max-connections", paramLabel = "N", defaultValue = "1024",
      description = "Most connections one opened port carries at once; more wait (default ${DEFAULT-VALUE}).")
  int maxConnections;

  @Override
  public Integer call() throws Exception {
    CliEnvironment env = Main.of(spec).environment();
    PortRange range;
    try {
      range = PortRange.parse(ports);
    } catch (IllegalArgumentException e) {
      throw new UsageException("--ports: " + e.getMessage());
    }
    if (maxConnections < 1) {
      throw new UsageException("--max-connections must be at least 1");
    }
    ClientHome home = env.home();
    Identity id = identity.resolve(home);
    AllowList allowed = TunnelClients.allowList(allow, id.address());
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    try (Q2qClient client = TunnelClients.build(env, home, id, server, err)) {
      Thread hook = TunnelClients.closeOnExit(client);
      try {
        Gateway gateway = Gateway.start(client, allowed, range, bind, maxConnections, new TunnelPrinter(out, err));
        Registrations.await(gateway.ready(), client, "cannot run a gateway for " + id.address());
        TunnelPrinter.print(out, "ready: gateway " + id.address() + " opens ports " + range + " on " + bind
            + " for " + allowed + (allowed.isDefault() ? " (your own domain, the default; change it with --allow)" : ""));
        new CompletableFuture<Void>().get(); // until interrupted
        return ExitCodes.OK;
      } finally {
        TunnelClients.removeHook(hook);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return ExitCodes.OK;
    }
  }
}
