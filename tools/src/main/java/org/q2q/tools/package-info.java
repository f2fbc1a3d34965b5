/**
 * The {@code q2q} command line (picocli). Commands parse arguments and call the library; shared
 * pieces for new commands: {@link org.q2q.tools.Main#of} (environment), {@link
 * org.q2q.tools.VerboseMixin}, {@link org.q2q.tools.IdentityOption} ({@code --as}), {@link
 * org.q2q.tools.ServerOption} ({@code --server}), {@link org.q2q.tools.Passwords}, {@link
 * org.q2q.tools.CliErrors} and {@link org.q2q.tools.ExitCodes}.
 */
package org.q2q.tools;
