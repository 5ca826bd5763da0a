/*
 * memory3.c — memory changed on every node of three (cloud, edge, fog).
 *
 * main (cloud) allocates a large heap buffer; each round it calls work_edge
 * (edge), which mutates the buffer, allocates a block of its own (memory
 * grows on edge) and calls work_fog (fog), which mutates the buffer and the
 * edge block and grows memory again; back on cloud main mutates too. Every
 * node prints a checksum of what it sees. At the end main replays the very
 * same mutations on a second buffer without any annotated call and prints
 * "replay ok" only if every checksum matches: the program proves its own
 * memory survived. Usage: memory3.wasm [MiB] [rounds]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafu.h"

#define MAX_ROUNDS 16

typedef struct state {
  uint8_t *buf;
  size_t len;
  uint8_t *blocks[MAX_ROUNDS]; /* one per round, allocated on edge */
  size_t block_len;
  uint64_t sums[MAX_ROUNDS][3];
} state;

static uint64_t checksum(const uint8_t *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ULL;
  const uint64_t *w = (const uint64_t *)p;
  for (size_t i = 0; i < n / 8; i++) h = (h ^ w[i]) * 0x100000001b3ULL;
  return h ^ n;
}

static uint32_t lcg(uint32_t *s) { return *s = *s * 1664525u + 1013904223u; }

/* The three mutations: different access patterns (strided, random, block moves). */
static void mutate_edge(state *st, int round) {
  uint32_t s = 100u + (uint32_t)round;
  for (size_t i = (size_t)round; i < st->len; i += 61) st->buf[i] ^= (uint8_t)lcg(&s);
  st->blocks[round] = malloc(st->block_len);
  if (!st->blocks[round]) abort();
  for (size_t i = 0; i < st->block_len; i++) st->blocks[round][i] = (uint8_t)(i * 7 + (size_t)round);
}

static void mutate_fog(state *st, int round) {
  uint32_t s = 900u + (uint32_t)round;
  for (int k = 0; k < 20000; k++) {
    size_t i = lcg(&s) % st->len;
    st->buf[i] = (uint8_t)(st->buf[i] * 3 + 1);
  }
  memmove(st->buf + 4096, st->buf + 9000 + (size_t)round, st->len / 4);
  for (int r = 0; r <= round; r++) st->blocks[r][(size_t)round * 13 % st->block_len] += 5;
  void *grow = malloc(st->block_len / 2); /* fog grows memory too, and leaks it */
  if (!grow) abort();
  memset(grow, 0x5a, st->block_len / 2);
}

static void mutate_cloud(state *st, int round) {
  for (size_t i = 0; i < st->len; i += 4096) st->buf[i] = (uint8_t)(st->buf[i] + round + 1);
  st->buf[st->len - 1] ^= 0xff;
}

static uint64_t all_sum(const state *st, int rounds) {
  uint64_t h = checksum(st->buf, st->len);
  for (int r = 0; r < rounds; r++) h = h * 31 + checksum(st->blocks[r], st->block_len);
  return h;
}

void work_edge(state *st, int round);
void work_fog(state *st, int round);

KAFU_DEST(work_fog, "fog")
KAFU_EXPORT(work_fog)
void work_fog(state *st, int round) {
  mutate_fog(st, round);
  st->sums[round][1] = all_sum(st, round + 1);
  printf("round %d fog   %016llx\n", round, (unsigned long long)st->sums[round][1]);
  fflush(stdout);
}

KAFU_DEST(work_edge, "edge")
KAFU_EXPORT(work_edge)
void work_edge(state *st, int round) {
  mutate_edge(st, round);
  st->sums[round][0] = all_sum(st, round + 1);
  printf("round %d edge  %016llx\n", round, (unsigned long long)st->sums[round][0]);
  fflush(stdout);
  work_fog(st, round);
  /* back on edge: what fog wrote is visible here */
  printf("round %d edge sees fog %016llx\n", round, (unsigned long long)all_sum(st, round + 1));
  fflush(stdout);
}

static void init(state *st, size_t mib) {
  memset(st, 0, sizeof *st);
  st->len = mib << 20;
  st->block_len = 300000;
  st->buf = malloc(st->len);
  if (!st->buf) abort();
  uint32_t s = 42;
  for (size_t i = 0; i < st->len; i++) st->buf[i] = (uint8_t)(lcg(&s) >> 24);
}

int main(int argc, char **argv) {
  size_t mib = argc > 1 ? (size_t)atoi(argv[1]) : 8;
  int rounds = argc > 2 ? atoi(argv[2]) : 3;
  if (rounds < 1 || rounds > MAX_ROUNDS || mib < 1) return 2;
  state st;
  init(&st, mib);
  printf("start %zu MiB, %d rounds: %016llx\n", mib, rounds, (unsigned long long)checksum(st.buf, st.len));
  fflush(stdout);
  for (int r = 0; r < rounds; r++) {
    work_edge(&st, r);
    mutate_cloud(&st, r);
    st.sums[r][2] = all_sum(&st, r + 1);
    printf("round %d cloud %016llx\n", r, (unsigned long long)st.sums[r][2]);
    fflush(stdout);
  }

  /* replay everything locally and compare with what each node computed */
  state re;
  init(&re, mib);
  int bad = 0;
  for (int r = 0; r < rounds; r++) {
    mutate_edge(&re, r);
    bad += all_sum(&re, r + 1) != st.sums[r][0];
    mutate_fog(&re, r);
    bad += all_sum(&re, r + 1) != st.sums[r][1];
    mutate_cloud(&re, r);
    bad += all_sum(&re, r + 1) != st.sums[r][2];
  }
  bad += memcmp(re.buf, st.buf, st.len) != 0;
  printf(bad ? "replay MISMATCH (%d)\n" : "replay ok\n", bad);
  printf("final %016llx\n", (unsigned long long)all_sum(&st, rounds));
  return bad ? 1 : 0;
}
