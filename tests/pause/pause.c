/* SPDX-License-Identifier: Apache-2.0
 * The VM test tier's pause (sandbox) container: holds a pod's namespaces and does nothing.
 * Sleeps in pause() until SIGTERM or SIGINT, then exits 0; reaps children it inherits as
 * PID 1 of a PID namespace. Built static (gcc -static -Os) so the image is this one file.
 */
#include <signal.h>
#include <stddef.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_stop(int sig) { (void)sig; stop = 1; }

static void on_child(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction sa = {0};
  sa.sa_handler = on_stop;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sa.sa_handler = on_child;
  sa.sa_flags = SA_NOCLDSTOP;
  sigaction(SIGCHLD, &sa, NULL);
  while (!stop) pause();
  return 0;
}
