#!/usr/bin/python3
"""MovieLens 100k as a click-through-like task for `ember train` (docs/quality.md).

    bench/movielens_csv.py DIR OUT_PREFIX

DIR holds ml-100k.inter, ml-100k.user and ml-100k.item in RecBole's atomic format (tab
separated, a typed header line): the RecBole wheel on PyPI ships them, so no download
outside the package registry is needed:

    pip download --no-deps -d /tmp/whl recbole==1.2.1
    unzip -q /tmp/whl/recbole-1.2.1-py3-none-any.whl 'recbole/dataset_example/ml-100k/*' -d /tmp/rb
    bench/movielens_csv.py /tmp/rb/recbole/dataset_example/ml-100k /tmp/ml100k

Writes OUT_PREFIX.train.csv and OUT_PREFIX.test.csv: one line per rating, label 1 when the
rating is >= 4; the user's id, age, gender, occupation and zip code; the item's id, release
year and genres ('|' separated). Rows are in time order and the last 20% by time are the
test file (ties broken by the ratings file's order). Prints the ember schema of the files."""
import csv
import sys

SCHEMA = ("label,user:cat,item:cat,age:num,gender:cat,occupation:cat,zip:cat,year:num,"
          "genres:multi:|")


def read_atomic(path):
    with open(path, encoding="latin-1") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        names = [h.split(":")[0] for h in next(reader)]
        return [dict(zip(names, row)) for row in reader]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, out = sys.argv[1], sys.argv[2]
    users = {u["user_id"]: u for u in read_atomic(src + "/ml-100k.user")}
    items = {i["item_id"]: i for i in read_atomic(src + "/ml-100k.item")}
    ratings = read_atomic(src + "/ml-100k.inter")
    order = sorted(range(len(ratings)), key=lambda k: (float(ratings[k]["timestamp"]), k))
    n_train = len(order) - len(order) // 5
    for name, part in (("train", order[:n_train]), ("test", order[n_train:])):
        with open("%s.%s.csv" % (out, name), "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(["label", "user", "item", "age", "gender", "occupation", "zip", "year",
                        "genres"])
            for k in part:
                r = ratings[k]
                u, i = users[r["user_id"]], items[r["item_id"]]
                year = i.get("release_year", "")
                year = year if year.isdigit() else "?"  # RecBole writes 'unkonwn' for one film
                genres = "|".join(i.get("class", "").split()) or "?"
                w.writerow([1 if float(r["rating"]) >= 4 else 0, r["user_id"], r["item_id"],
                            u["age"], u["gender"], u["occupation"], u["zip_code"], year, genres])
    print(SCHEMA)


if __name__ == "__main__":
    main()
