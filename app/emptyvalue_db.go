package app

import (
	dbm "github.com/cosmos/cosmos-db"
)

// emptyValueDB works around goleveldb answering Get with nil for a key whose
// stored value is empty, as if the key were missing. IAVL stores the root of
// an empty tree as an empty value, so without this a module store that holds
// nothing (upgrade, evidence, authz, feegrant at genesis) makes every query
// at a committed height fail with "version does not exist".
//
// Only a nil answer is re-checked, with an iterator over exactly that key
// (iterators report empty values faithfully); a key that is really missing
// still reads as nil. What is written to disk is unchanged.
type emptyValueDB struct {
	dbm.DB
}

// withEmptyValues wraps db; see emptyValueDB.
func withEmptyValues(db dbm.DB) dbm.DB {
	if _, ok := db.(emptyValueDB); ok || db == nil {
		return db
	}
	return emptyValueDB{DB: db}
}

// Get returns []byte{} rather than nil for a key stored with an empty value.
func (d emptyValueDB) Get(key []byte) ([]byte, error) {
	v, err := d.DB.Get(key)
	if err != nil || v != nil {
		return v, err
	}
	// The range [key, key+"\x00") holds key and nothing else.
	end := append(append(make([]byte, 0, len(key)+1), key...), 0)
	it, err := d.DB.Iterator(key, end)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	if it.Valid() {
		return []byte{}, nil
	}
	return nil, it.Error()
}

// Has agrees with Get.
func (d emptyValueDB) Has(key []byte) (bool, error) {
	v, err := d.Get(key)
	return v != nil, err
}
