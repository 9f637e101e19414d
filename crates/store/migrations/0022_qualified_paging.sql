-- "Qualified on D" without a group pages through a type's tracks by member name: this index
-- reads one page in order instead of sorting every track of the type.
CREATE INDEX credentials_type_member_idx ON credentials (agency_id, credential_type_id, member_sort_name, member_id);
