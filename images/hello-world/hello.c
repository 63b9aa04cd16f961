/*
 * hello-world for Berth: a tiny static program, built from source in this repo
 * (no registry involved). It writes one message and exits 0, like the classic
 * hello-world image, but in Berth's own words.
 */
#include <string.h>
#include <unistd.h>

static const char message[] =
    "\n"
    "Hello from Berth!\n"
    "\n"
    "If you can read this, Docker works in your sandbox. Here is what just happened:\n"
    "\n"
    " 1. The docker client (the `docker` command) asked the Docker engine to run\n"
    "    the image \"hello-world\".\n"
    " 2. The engine looked for the image in its local store. If it was not there\n"
    "    yet, the engine pulled it from a registry (Berth's own, no internet\n"
    "    needed): the \"Unable to find image\" ... \"Pull complete\" lines above.\n"
    "    If it was there already, the engine used it as it was.\n"
    " 3. The engine created a new container from the image and started it. The\n"
    "    container ran one small program, the one printing these lines.\n"
    " 4. The engine streamed the program's output back to your client, which\n"
    "    printed it in your terminal. The program ended, so the container stopped.\n"
    "\n"
    "Look around next:\n"
    "    docker images     (the images your engine has)\n"
    "    docker ps -a      (the containers you have run, stopped ones too)\n"
    "\n"
    "Then carry on with the next lesson.\n"
    "\n";

int main(void) {
    const char *p = message;
    size_t left = sizeof message - 1;
    while (left > 0) {
        ssize_t n = write(1, p, left);
        if (n <= 0) return 1;
        p += n;
        left -= (size_t)n;
    }
    return 0;
}
