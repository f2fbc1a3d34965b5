/** Not API: the client side of the Registration calls (TOFU capture, stubs). */
package org.q2q.client.internal.registration;
