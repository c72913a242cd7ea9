"""Lead import (mapping, dry run, the arq job) and the downloads of failed rows and exports."""
