/**
 * The file service on virtual channels (service {@value org.q2q.client.files.FileTransfer#SERVICE}):
 * files and folders, many at once, offered first and accepted or refused whole, then streamed in
 * 1 MiB chunks each verified by SHA-256 as it arrives, stored durably without overwriting, and
 * resumed from the verified chunks after an interruption. Used by {@code q2q send} and {@code q2q
 * receive}; the wire format is in {@link org.q2q.client.files.FileTransfer}.
 */
package org.q2q.client.files;
