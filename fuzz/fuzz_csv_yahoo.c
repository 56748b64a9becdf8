/* fuzz_csv_yahoo -- the yahoo layout reader (tokenizer, numbers, dates, cleaning
 * rules, gzip when the input starts with the gzip magic) on arbitrary bytes,
 * through the entry point the runner uses for S3 objects; see
 * fuzz_csv_common.h for what is checked. */
#include "fuzz_csv_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_csv_load("FUZZ_data.csv", DATA_LAYOUT_YAHOO, data, size);
    return 0;
}
