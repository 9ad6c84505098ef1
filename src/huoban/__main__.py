from huoban.cli import main

main()
