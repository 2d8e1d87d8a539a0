// Command quickstart walks through the Atlas API with the atlas-go SDK.
package main

import "fmt"

func main() {
	fmt.Println("atlas-go quickstart: the fake server and client are being built; nothing to run yet.")
}
