module sbx

go 1.22
