package main

import (
	"fmt"

	"github.com/zabertech/go-izaber-wamp/conformance/testrouter"
)

func main() { fmt.Println(testrouter.CryptosignPublicKey()) }
