/*
 * wordstat: a small command-line program for the swarmgrid `wasi` task.
 *
 *   wordstat [-n TOP] [-d DICT] [LABEL]
 *
 * Reads text on stdin, counts its lines, words and bytes, checks each word against the word
 * list in DICT (an input file of the run), prints a summary on stdout, and writes the TOP most
 * frequent words to out/LABEL.txt (under /out on the grid). Plain C99 and the C library only,
 * so the same source builds natively (cc) and for WASI (clang --target=wasm32-wasi).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct word { char *text; int count; };

static struct word *words;
static int nwords, capwords;

static char *read_all(FILE *f, size_t *len) {
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  size_t got;
  while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
    n += got;
    if (cap - n - 1 == 0) buf = realloc(buf, cap *= 2);
  }
  if (!buf) { fprintf(stderr, "wordstat: out of memory\n"); exit(2); }
  buf[n] = 0;
  *len = n;
  return buf;
}

static void count_word(const char *w) {
  for (int i = 0; i < nwords; i++) if (strcmp(words[i].text, w) == 0) { words[i].count++; return; }
  if (nwords == capwords) {
    capwords = capwords ? capwords * 2 : 64;
    words = realloc(words, capwords * sizeof *words);
    if (!words) { fprintf(stderr, "wordstat: out of memory\n"); exit(2); }
  }
  words[nwords].text = strdup(w);
  words[nwords].count = 1;
  nwords++;
}

static int by_count(const void *a, const void *b) {
  const struct word *x = a, *y = b;
  if (x->count != y->count) return y->count - x->count;
  return strcmp(x->text, y->text);
}

static int in_dict(const char *dict, const char *w) {
  size_t n = strlen(w);
  for (const char *p = dict; (p = strstr(p, w)) != NULL; p++) {
    if ((p == dict || p[-1] == '\n') && (p[n] == '\n' || p[n] == 0)) return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  int top = 5;
  const char *dict_path = NULL, *label = "report";
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) top = atoi(argv[++i]);
    else if (strcmp(argv[i], "-d") == 0 && i + 1 < argc) dict_path = argv[++i];
    else label = argv[i];
  }
  char *dict = NULL;
  if (dict_path) {
    FILE *f = fopen(dict_path, "r");
    if (!f) { fprintf(stderr, "wordstat: cannot open %s: %s\n", dict_path, strerror(errno)); return 1; }
    size_t dlen;
    dict = read_all(f, &dlen);
    fclose(f);
  }
  size_t len;
  char *text = read_all(stdin, &len);
  long lines = 0, total = 0, known = 0, letters = 0;
  unsigned hash = 2166136261u;
  char w[64];
  int wl = 0;
  for (size_t i = 0; i <= len; i++) {
    unsigned char c = i < len ? (unsigned char)text[i] : ' ';
    if (i < len) hash = (hash ^ c) * 16777619u;
    if (c == '\n') lines++;
    if (isalpha(c) && wl < 63) { w[wl++] = (char)tolower(c); continue; }
    if (wl > 0) {
      w[wl] = 0;
      total++;
      letters += wl;
      if (dict && in_dict(dict, w)) known++;
      count_word(w);
      wl = 0;
    }
  }
  qsort(words, nwords, sizeof *words, by_count);
  double mean = total ? (double)letters / (double)total : 0.0;
  printf("%s: %ld lines, %ld words (%d distinct), %zu bytes, fnv1a %08x\n", label, lines, total, nwords, len, hash);
  printf("mean word length %.6f, %ld of %ld words in the dictionary (%.3f%%)\n", mean, known, total,
         total ? 100.0 * (double)known / (double)total : 0.0);
  char path[128];
  snprintf(path, sizeof path, "out/%s.txt", label);
  FILE *out = fopen(path, "w");
  if (!out) { fprintf(stderr, "wordstat: cannot write %s: %s\n", path, strerror(errno)); return 1; }
  for (int i = 0; i < nwords && i < top; i++) fprintf(out, "%6d %s\n", words[i].count, words[i].text);
  fclose(out);
  return 0;
}
