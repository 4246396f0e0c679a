module swarmgrid.example/wordfreq

go 1.21
