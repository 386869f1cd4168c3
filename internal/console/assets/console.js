/* built by internal/console/web */
