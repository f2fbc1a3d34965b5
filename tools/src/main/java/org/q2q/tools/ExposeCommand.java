package org.q2q.tools;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import org.q2q.certstore.ClientHome;
import org.q2q.certstore.Identity;
import org.q2q.certstore.ServiceName;
import org.q2q.client.Q2qClient;
import org.q2q.client.forward.AllowList;
import org.q2q.client.forward.Exposer;
import org.q2q.client.forward.HostPort;
import org.q2q.tools.ExitCodes.CommandFailedException;
import org.q2q.tools.ExitCodes.UsageException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code q2q expose SERVICE HOST:PORT}: offer a TCP service as ADDRESS/SERVICE. */
@Command(
    name = "expose",
    mixinStandardHelpOptions = true,
    description = {
      "Offer a TCP service as ADDRESS/SERVICE (the serving side of 'q2q forward').",
      "",
      "Offer the TCP service at HOST:PORT (on this machine or one it reaches) as "
          + "ADDRESS/SERVICE, for 'q2q forward' on other machines. Only allowed addresses may open "
          + "it: by default the addresses of your own domain; --allow names addresses or whole "
          + "domains (@example.com) instead. Prints 'ready: ...' once the presence server has "
          + "confirmed the registration, then a line per connection (who, from where, bytes each way, "
          + "duration). Runs until interrupted."
    },
    footer = {"", "Example: q2q expose web 127.0.0.1:8080 --allow alice@example.com --allow @partner.org"})
final class ExposeCommand implements Callable<Integer> {

  @Spec private CommandSpec spec;
  @Mixin private VerboseMixin verbose;
  @Mixin private IdentityOption identity;
  @Mixin private ServerOption server;

  @Parameters(index = "0", paramLabel = "SERVICE", description = "The service name, e.g. web or ssh.")
  String service;

  @Parameters(index = "1", paramLabel = "HOST:PORT", description = "Where the TCP service is, e.g. 127.0.0.1:8080.")
  String target;

  @Option(names = "--allow", paramLabel = "ADDRESS|@DOMAIN",
      description = "Who may connect (repeatable): an address or a whole domain. Default: your own domain.")
  List<String> allow = new ArrayList<>();

  @Option(names = "--max-connections", paramLabel = "N", defaultValue = "1024",
      description = "Most connections carried at once; more are refused (default ${DEFAULT-VALUE}).")
  int maxConnections;

  @Override
  public Integer call() throws Exception {
    CliEnvironment env = Main.of(spec).environment();
    HostPort to;
    try {
      ServiceName.check(service);
      to = HostPort.parse(target);
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage());
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
        Exposer exposer = Exposer.start(client, service, to, allowed, maxConnections, new TunnelPrinter(out, err));
        Registrations.await(exposer.ready(), client, "cannot expose " + id.address() + "/" + service);
        TunnelPrinter.print(out, "ready: exposing " + to + " as " + id.address() + "/" + service + "; allowed: "
            + allowed + (allowed.isDefault() ? " (your own domain, the default; change it with --allow)" : ""));
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
