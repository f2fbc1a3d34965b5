/**
 * Not API: Bouncy Castle glue for certstore. Bouncy Castle types never leave this package; it is
 * used through a provider instance, never {@code Security.addProvider}.
 */
package org.q2q.certstore.internal;
