package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/zabertech/go-izaber-wamp/router/nexus"
)

// runHashPassword is `izaber-wamp router hash-password`: it reads a
// password (asking twice, without echo, on a terminal; else the first line
// of stdin) and prints its password_hash for the users file.
func runHashPassword(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("izaber-wamp router hash-password", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: izaber-wamp router hash-password < password-file")
		fmt.Fprintln(stderr, "\nPrints a password_hash (PBKDF2-SHA256, passlib's pbkdf2_sha256 format, as Nexus stores)")
		fmt.Fprintln(stderr, "for the router's users file, in place of a plaintext password:")
		fmt.Fprintln(stderr, "\n  users:\n    - login: alice\n      password_hash: \"$pbkdf2-sha256$100000$...\"")
		fmt.Fprintln(stderr, "\nOn a terminal it asks for the password twice, without echo; otherwise it reads the")
		fmt.Fprintln(stderr, "first line of standard input.")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(stderr, "izaber-wamp router hash-password: the password is read from standard input, not from arguments")
		return 2
	}
	var pw string
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		read := func(prompt string) (string, error) {
			fmt.Fprint(stderr, prompt)
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(stderr)
			return string(b), err
		}
		a, err := read("Password: ")
		if err != nil {
			fmt.Fprintf(stderr, "izaber-wamp router hash-password: %v\n", err)
			return 1
		}
		b, err := read("Again: ")
		if err != nil {
			fmt.Fprintf(stderr, "izaber-wamp router hash-password: %v\n", err)
			return 1
		}
		if a != b {
			fmt.Fprintln(stderr, "izaber-wamp router hash-password: the passwords differ")
			return 1
		}
		pw = a
	} else {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			fmt.Fprintf(stderr, "izaber-wamp router hash-password: %v\n", err)
			return 1
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	if pw == "" {
		fmt.Fprintln(stderr, "izaber-wamp router hash-password: empty password")
		return 1
	}
	h, err := nexus.HashPassword(pw)
	if err != nil {
		fmt.Fprintf(stderr, "izaber-wamp router hash-password: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, h)
	return 0
}
