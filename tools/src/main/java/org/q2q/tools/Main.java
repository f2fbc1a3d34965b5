package org.q2q.tools;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * The {@code q2q} command. Subcommands are listed in {@link #COMMANDS}: adding one is a one-line
 * change. Commands implement {@code Callable<Integer>}, get the environment with {@link
 * #of(CommandSpec)}, and throw on failure ({@link CliErrors} turns the exception into one line on
 * stderr and an {@link ExitCodes exit code}); only {@link #main} exits.
 */
@Command(
    name = "q2q",
    mixinStandardHelpOptions = true,
    versionProvider = Version.class,
    description = "Reach people and programs by address (alice@example.com), through NATs, end-to-end encrypted.",
    synopsisSubcommandLabel = "COMMAND",
    footer = {
      "",
      "Environment: Q2Q_HOME (default ~/.q2q) holds identities and pinned CAs;",
      "Q2Q_SERVERS=domain=host:port,... says where a domain's presence server is (a domain named several times: its nodes, tried in order).",
      "Exit codes: 0 ok, 1 failure, 2 usage, 3 refused by the server, 4 server unreachable, 5 untrusted certificate."
    })
public final class Main implements Runnable {
  /** The subcommands, in the order help lists them. */
  static final List<Class<?>> COMMANDS = List.of(
      HelpCommand.class,
      ServerCommand.class,
      RegisterCommand.class,
      WhoamiCommand.class,
      IdentifyCommand.class,
      KnownCasCommand.class,
      SendCommand.class, ReceiveCommand.class,
      ExposeCommand.class, ForwardCommand.class, GatewayCommand.class,
      WarmupCommand.class);

  @Spec private CommandSpec spec;
  @Mixin private VerboseMixin verbose;

  private final CliEnvironment environment;
  /** Number of -v flags seen anywhere on the command line. */
  int verbosity;

  /** The command with {@code environment}. */
  public Main(CliEnvironment environment) {
    this.environment = Objects.requireNonNull(environment, "environment");
  }

  /** Runs {@code q2q} and exits with its code. */
  public static void main(String[] args) {
    // Logback itself starts on first use (logback.xml: WARN to stderr); not touching it here keeps
    // `q2q --help` fast. gRPC logs through java.util.logging: quiet it the same way.
    Logging.quietJavaUtilLogging();
    Class<?> command = named(args);
    nettyDefaults(command, System.getProperties()); // before anything loads Netty (Preload does)
    boolean runsACommand = command != null && !Arrays.asList(args).contains("--help") && !Arrays.asList(args).contains("-h");
    if (runsACommand) {
      Preload.start();
    }
    CommandLine cl = commandLine(CliEnvironment.system(), args);
    if (runsACommand) {
      // the command's own code logs: let it find SLF4J bound, not half-way (see Preload)
      CommandLine.IExecutionStrategy run = cl.getExecutionStrategy();
      cl.setExecutionStrategy(parsed -> {
        Preload.awaitLogging();
        return run.execute(parsed);
      });
    }
    System.exit(cl.execute(args));
  }

  /** The configured command line (tests run {@code execute} on it with their own environment). */
  public static CommandLine commandLine(CliEnvironment environment) {
    return build(environment, COMMANDS);
  }

  /**
   * The command line for {@code args}: only the subcommand they name, when they name one (other
   * than help). Why: picocli inspects every subcommand tree when it is built, about 100 ms of a
   * 0.9 s small send; a command that is not run need not be inspected. Anything else (no command,
   * an unknown one, help) gets the whole tree, so usage and suggestions list every command.
   */
  public static CommandLine commandLine(CliEnvironment environment, String[] args) {
    Class<?> c = named(args);
    return c != null ? build(environment, List.of(c)) : commandLine(environment);
  }

  /**
   * Netty settings for the command {@code command} (null: none) runs with, unless set already
   * (-D... in Q2Q_JAVA_OPTS): read by Netty once, when its classes initialize.
   *
   * <ul>
   *   <li>{@code io.netty.jfr.enabled=false}: Netty's buffer allocators register JFR events on
   *       first use, which starts JFR's metadata machinery: about 50 ms of a small send. Nobody
   *       records JFR in a CLI run.
   *   <li>{@code io.netty.allocator.type=pooled} for every command but {@code server}: Netty 4.2's
   *       default allocator (adaptive) makes a {@code java.nio} view object for every copy between
   *       its buffers, 93 % of what a forwarder allocated; the pooled one copies by address. A
   *       forwarder and an exposer then had 2 young GCs per 10 s of requests instead of 8-10, and
   *       their p99 fell (bench/results.md, 2026-12-04 23:20). The server keeps Netty's default,
   *       with which its capacity was measured.
   * </ul>
   */
  static void nettyDefaults(Class<?> command, java.util.Properties props) {
    props.putIfAbsent("io.netty.jfr.enabled", "false");
    if (command != null && command != ServerCommand.class) {
      props.putIfAbsent("io.netty.allocator.type", "pooled");
    }
  }

  /** The subcommand {@code args} name (not help), or null. */
  private static Class<?> named(String[] args) {
    String first = Arrays.stream(args).filter(a -> !a.startsWith("-")).findFirst().orElse(null);
    for (Class<?> c : COMMANDS) {
      Command command = c.getAnnotation(Command.class);
      if (c != HelpCommand.class && (command.name().equals(first) || Arrays.asList(command.aliases()).contains(first))) {
        return c;
      }
    }
    return null;
  }

  private static CommandLine build(CliEnvironment environment, List<Class<?>> commands) {
    Main main = new Main(environment);
    CommandLine cl = new CommandLine(main);
    for (Class<?> c : commands) {
      cl.addSubcommand(c);
    }
    cl.setCaseInsensitiveEnumValuesAllowed(true);
    cl.setExecutionExceptionHandler(new CliErrors.ExecutionHandler(main));
    cl.setParameterExceptionHandler(new CliErrors.ParameterHandler());
    return cl;
  }

  /** The root {@link Main} of the command that {@code spec} belongs to. */
  public static Main of(CommandSpec spec) {
    return (Main) spec.root().userObject();
  }

  /** The environment commands read. */
  public CliEnvironment environment() {
    return environment;
  }

  /** True if -v was given. */
  public boolean verbose() {
    return verbosity > 0;
  }

  @Override
  public void run() {
    // no command: show what there is
    spec.commandLine().usage(spec.commandLine().getOut());
  }
}
