/* data_layout.c -- the declared column mappings of each layout. Adding a
 * vendor layout means adding a table here, not code in the reader. */
#include <string.h>

#include "data_rows.h"

static const struct data_colmap daily_cols[] = {
    {"symbol", DF_SYMBOL, DATA_COL_REQUIRED}, {"date", DF_DATE, DATA_COL_REQUIRED},
    {"open", DF_OPEN, DATA_COL_REQUIRED},     {"high", DF_HIGH, DATA_COL_REQUIRED},
    {"low", DF_LOW, DATA_COL_REQUIRED},       {"close", DF_CLOSE, DATA_COL_REQUIRED},
    {"volume", DF_VOLUME, DATA_COL_REQUIRED}, {"adj_factor", DF_ADJ_FACTOR, 0},
    {"adj_close", DF_ADJ_CLOSE, 0},           {"vwap", DF_VWAP, 0},
};

/* ticker ("600519") and turnovervalue are not used: secid ("600519.SH")
 * names the stock with its exchange. */
static const struct data_colmap ashare_cols[] = {
    {"secid", DF_SYMBOL, DATA_COL_REQUIRED},
    {"tradedate", DF_DATE, DATA_COL_REQUIRED},
    {"openprice", DF_OPEN, DATA_COL_REQUIRED},
    {"highestprice", DF_HIGH, DATA_COL_REQUIRED},
    {"lowestprice", DF_LOW, DATA_COL_REQUIRED},
    {"closeprice", DF_CLOSE, DATA_COL_REQUIRED},
    {"turnovervol", DF_VOLUME, DATA_COL_REQUIRED},
    {"accumadjfactor", DF_ADJ_FACTOR, DATA_COL_REQUIRED},
    {"isopen", DF_ISOPEN, DATA_COL_REQUIRED},
};

static const struct data_colmap yahoo_cols[] = {
    {"Date", DF_DATE, DATA_COL_REQUIRED},
    {"High", DF_HIGH, DATA_COL_REQUIRED},
    {"Low", DF_LOW, DATA_COL_REQUIRED},
    {"Open", DF_OPEN, DATA_COL_REQUIRED},
    {"Close", DF_CLOSE, DATA_COL_REQUIRED},
    {"Volume", DF_VOLUME, DATA_COL_REQUIRED},
    {"Adj Close", DF_ADJ_CLOSE, DATA_COL_REQUIRED},
    {"Name", DF_SYMBOL, 0},
};

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

static const struct data_layout_spec specs[] = {
    {DATA_LAYOUT_DAILY, "daily", daily_cols, NCOLS(daily_cols), 1, NULL},
    {DATA_LAYOUT_ASHARE, "ashare", ashare_cols, NCOLS(ashare_cols), 0, NULL},
    {DATA_LAYOUT_YAHOO, "yahoo", yahoo_cols, NCOLS(yahoo_cols), 0, "_data"},
};

const struct data_layout_spec *data_layout_spec(enum data_layout layout) {
    for (size_t i = 0; i < NCOLS(specs); i++)
        if (specs[i].layout == layout) return &specs[i];
    return NULL;
}

const char *data_layout_name(enum data_layout layout) {
    const struct data_layout_spec *s = data_layout_spec(layout);
    return s ? s->name : "?";
}

int data_layout_parse(const char *s, enum data_layout *out, struct bt_err *err) {
    for (size_t i = 0; i < NCOLS(specs); i++)
        if (s && !strcmp(s, specs[i].name)) {
            *out = specs[i].layout;
            return 0;
        }
    return bt_err_set(err, BT_EINPUT, NULL, "unknown layout '%s' (daily, ashare or yahoo)",
                      s ? s : "");
}

const char *data_field_name(enum data_field f) {
    static const char *names[DF_COUNT] = {"none", "symbol",     "date",      "open",
                                          "high", "low",        "close",     "volume",
                                          "vwap", "adj_factor", "adj_close", "isopen"};
    return (unsigned)f < DF_COUNT ? names[f] : "?";
}
