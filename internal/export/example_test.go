package export_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/ocrbatch/ocrworker/internal/export"
)

// A JSONL stream of results (as `producer export --format jsonl` writes, or
// the stored objects one after another) becomes a receipt CSV.
func Example() {
	in := strings.NewReader(`{"schema":"ocr-result/v1","status":"succeeded","documentType":"receipt","source":{"uri":"s3://in/a.jpg"},"fields":{"store":{"name":{"value":"=1+1","text":"=1+1"}},"totalPrice":{"value":-1000,"text":"-1,000"}},"error":null}
{"schema":"ocr-result/v1","status":"failed","documentType":"receipt","source":{"uri":"s3://in/b.jpg"},"fields":null,"error":{"code":"invalid_image","message":"not an image"}}
`)
	w, err := export.NewCSV(os.Stdout, export.Options{Type: "receipt"})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := export.Copy(w, export.Decode(in)); err != nil {
		fmt.Println(err)
	}
	if err := w.Close(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// source_uri,page,status,error_code,store_name,business_number,date,time,total,card_company,card_number,confirm_number,item_count
	// s3://in/a.jpg,,succeeded,,'=1+1,,,,-1000,,,,0
	// s3://in/b.jpg,,failed,invalid_image,,,,,,,,,
}
