/* A stand-in for `reboot` and `poweroff` inside the integration tests' root
 * filesystem: instead of acting, it appends "<program> <args>" to
 * /run/elemental-test/power-requests, so tests can check what the agent asked
 * for. Built static with the project's toolchain. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char** argv) {
  const char* name = strrchr(argv[0], '/');
  name = name ? name + 1 : argv[0];
  mkdir("/run/elemental-test", 0755);
  FILE* f = fopen("/run/elemental-test/power-requests", "a");
  if (!f) {
    perror("fake-power: /run/elemental-test/power-requests");
    return 1;
  }
  fputs(name, f);
  for (int i = 1; i < argc; i++) {
    fputc(' ', f);
    fputs(argv[i], f);
  }
  fputc('\n', f);
  fclose(f);
  return 0;
}
