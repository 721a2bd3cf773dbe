/*
 * Run one command and report what it cost: wall seconds, CPU seconds (user +
 * system of the command and every process it waited for), peak RSS of the
 * largest of them in KiB, exit status. Appends one line to OUT:
 * "wall cpu rss_kib status". stdout of the command goes to /dev/null unless
 * -v; stderr is kept.
 *
 * usage: runner [-v] OUT COMMAND [ARG]...
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct timespec t0, t1;
    struct rusage ru;
    int verbose = argc > 1 && strcmp(argv[1], "-v") == 0, status = 0, a = 1 + verbose;
    pid_t pid;
    FILE *out;
    double wall, cpu;

    if (argc < a + 2) {
        fprintf(stderr, "usage: runner [-v] OUT COMMAND [ARG]...\n");
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid = fork();
    if (pid < 0) {
        perror("runner: fork");
        return 2;
    }
    if (pid == 0) {
        if (!verbose) {
            int fd = open("/dev/null", O_WRONLY);

            if (fd >= 0) {
                dup2(fd, 1);
                close(fd);
            }
        }
        execvp(argv[a + 1], argv + a + 1);
        fprintf(stderr, "runner: %s: %s\n", argv[a + 1], strerror(errno));
        _exit(127);
    }
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            perror("runner: waitpid");
            return 2;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    getrusage(RUSAGE_CHILDREN, &ru);
    wall = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
          (double)ru.ru_stime.tv_usec / 1e6;
    if ((out = fopen(argv[a], "a")) == NULL) {
        perror(argv[a]);
        return 2;
    }
    fprintf(out, "%.6f %.6f %ld %d\n", wall, cpu, ru.ru_maxrss,
            WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    fclose(out);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
