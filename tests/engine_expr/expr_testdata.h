/* expr_testdata.h -- helpers the expression tests share: hand-built panels
 * and a tiny reader of the shared sp500 Yahoo files (kept here so these
 * tests do not depend on the data loader under test elsewhere). */
#ifndef BTPIPE_EXPR_TESTDATA_H
#define BTPIPE_EXPR_TESTDATA_H

#include "panel.h"

/* ndates x nsyms panel, symbols S000.., every field NaN; dates are
 * weekdays from 2020-01-02 with a holiday every 37th weekday. */
void td_panel(struct panel *p, int ndates, int nsyms);
/* Sets field f of symbol s to the n values v (rows 0..n-1). */
void td_set(struct panel *p, int f, int s, const double *v, int n);

/* td_panel filled with deterministic pseudo-random prices (volume scaled
 * up), every 97th cell NaN: a panel for value-agnostic checks. */
void td_synth(struct panel *p, int ndates, int nsyms);

/* Loads sp500 Yahoo files from dir (SYMBOL_data.csv.gz): all of them when
 * nsyms == 0, else the named ones. Prices scaled by Adj Close / Close,
 * volume as is, an empty price or zero volume is no bar, vwap = (h+l+c)/3.
 * Returns 0 or -1 (message on stderr). */
int td_load_sp500(const char *dir, const char *const *syms, int nsyms, struct panel *p);
/* BTPIPE_SHARED_DIR "/data/sp500-5y", overridable by the environment. */
const char *td_sp500_dir(void);

#endif
