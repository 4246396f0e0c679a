// Command wordfreq counts the words of its stdin with a few goroutines, leaves out the stop
// words listed in an input file, prints a summary and the most frequent words, and writes them
// under out/LABEL/. With -ls it first lists its working directory (on a donor: the run's input
// files and out/). With -clock it also prints the time, random numbers and what sleeps, a timer
// and a ticker saw: on a swarmgrid donor the clock is the job's and random bytes are seeded by
// the job, so those lines agree between donors (and differ from a native run).
//
//	GOOS=wasip1 GOARCH=wasm go build -o wordfreq.wasm .   # for the grid
//	go build -o wordfreq .                                # natively, to compare
package main

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"flag"
	"fmt"
	mathrand "math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

type counts map[string]int

func main() {
	workers := flag.Int("workers", 4, "goroutines counting words")
	top := flag.Int("top", 5, "how many words to print")
	stopFile := flag.String("stop", "", "a file of stop words, one a line")
	clock := flag.Bool("clock", false, "print the time, random numbers, sleeps and timers")
	list := flag.Bool("ls", false, "list the working directory first: the run's files, and out/")
	flag.Parse()
	if flag.NArg() != 1 || *workers < 1 || *top < 0 {
		fmt.Fprintln(os.Stderr, "usage: wordfreq [-workers N] [-top K] [-stop FILE] [-clock] [-ls] LABEL")
		os.Exit(2)
	}
	label := flag.Arg(0)
	if *list {
		if err := listDir("."); err != nil {
			fmt.Fprintln(os.Stderr, "wordfreq:", err)
			os.Exit(1)
		}
	}

	stop := map[string]bool{}
	if *stopFile != "" {
		data, err := os.ReadFile(*stopFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "wordfreq:", err)
			os.Exit(1)
		}
		for _, w := range strings.Fields(string(data)) {
			stop[strings.ToLower(w)] = true
		}
	}

	input := bufio.NewScanner(os.Stdin)
	input.Buffer(make([]byte, 1<<16), 1<<24)
	hash := sha256.New()
	lines := make(chan string, 64)
	results := make(chan counts)
	var wg sync.WaitGroup
	for i := 0; i < *workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results <- count(lines, stop)
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()
	nLines, nBytes := 0, 0
	go func() {
		for input.Scan() {
			line := input.Text()
			nLines++
			nBytes += len(line) + 1
			hash.Write([]byte(line + "\n"))
			lines <- line
		}
		close(lines)
	}()
	total := counts{}
	for part := range results {
		for w, n := range part {
			total[w] += n
		}
	}
	if err := input.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "wordfreq: reading stdin:", err)
		os.Exit(1)
	}

	words, stopped := 0, total["\x00stopped"]
	delete(total, "\x00stopped")
	for _, n := range total {
		words += n
	}
	ranked := rank(total)
	fmt.Printf("%s: %d lines, %d words (%d distinct, %d stop words left out), %d bytes, sha256 %x\n",
		label, nLines, words, len(total), stopped, nBytes, hash.Sum(nil)[:8])
	shown := ranked[:min(*top, len(ranked))]
	for _, w := range shown {
		fmt.Printf("%7d %s\n", total[w], w)
	}
	if err := writeOut(label, shown, total); err != nil {
		fmt.Fprintln(os.Stderr, "wordfreq:", err)
		os.Exit(1)
	}
	if *clock {
		showClock()
	}
}

// count tallies the words of the lines it takes from the channel, lower-cased, leaving out stop
// words (counted under a key no word can have).
func count(lines <-chan string, stop map[string]bool) counts {
	c := counts{}
	for line := range lines {
		for _, w := range strings.FieldsFunc(line, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			w = strings.ToLower(w)
			if stop[w] {
				c["\x00stopped"]++
			} else {
				c[w]++
			}
		}
	}
	return c
}

func rank(total counts) []string {
	words := make([]string, 0, len(total))
	for w := range total {
		words = append(words, w)
	}
	sort.Slice(words, func(i, j int) bool {
		a, b := words[i], words[j]
		return total[a] > total[b] || total[a] == total[b] && a < b
	})
	return words
}

// writeOut writes out/LABEL/top.tsv (the words shown) and out/LABEL/lengths.txt (how many
// distinct words have each length, in letters).
func writeOut(label string, shown []string, total counts) error {
	dir := filepath.Join("out", label)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var tsv strings.Builder
	for _, w := range shown {
		fmt.Fprintf(&tsv, "%s\t%d\n", w, total[w])
	}
	if err := os.WriteFile(filepath.Join(dir, "top.tsv"), []byte(tsv.String()), 0o644); err != nil {
		return err
	}
	lengths := map[int]int{}
	longest := 0
	for w := range total {
		n := utf8.RuneCountInString(w)
		lengths[n]++
		longest = max(longest, n)
	}
	f, err := os.Create(filepath.Join(dir, "lengths.txt"))
	if err != nil {
		return err
	}
	out := bufio.NewWriter(f)
	for n := 1; n <= longest; n++ {
		fmt.Fprintf(out, "%2d %s\n", n, strings.Repeat("#", lengths[n]))
	}
	if err := out.Flush(); err != nil {
		return err
	}
	return f.Close()
}

func listDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			return err
		}
		if e.IsDir() {
			fmt.Printf("ls: %s/\n", e.Name())
		} else {
			fmt.Printf("ls: %s %d bytes\n", e.Name(), info.Size())
		}
	}
	return nil
}

// showClock prints what differs from one machine, or one moment, to the next.
func showClock() {
	start := time.Now()
	fmt.Println("time:", start.UTC().Format(time.RFC3339Nano))
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		fmt.Println("random: failed:", err)
	} else {
		fmt.Printf("random: %x %d\n", b, mathrand.Int63())
	}
	time.Sleep(30 * time.Millisecond)
	fmt.Println("slept:", time.Since(start).Round(10*time.Millisecond))

	never := make(chan struct{})
	select {
	case <-time.After(20 * time.Millisecond):
		fmt.Println("timer: fired after", time.Since(start).Round(10*time.Millisecond))
	case <-never:
	}

	ticker := time.NewTicker(10 * time.Millisecond)
	for i := 0; i < 3; i++ {
		<-ticker.C
	}
	ticker.Stop()
	fmt.Println("ticker: 3 ticks after", time.Since(start).Round(10*time.Millisecond))

	woke := make(chan int)
	for i := 3; i >= 1; i-- {
		go func(i int) {
			time.Sleep(time.Duration(i) * 15 * time.Millisecond)
			woke <- i
		}(i)
	}
	order := []int{<-woke, <-woke, <-woke}
	fmt.Println("woke:", order, "after", time.Since(start).Round(10*time.Millisecond))
}
